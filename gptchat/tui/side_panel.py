"""A list beside the chat that, on a narrow screen, shows only while it is in use."""

from __future__ import annotations

from textual.widgets import ListView

# Terminal widths at which the screen gets each class: below 120 columns the two panels would
# squeeze the chat to a few columns (an 80-column terminal left it 4), so they show on demand.
BREAKPOINTS = [(0, "-narrow"), (120, "-medium"), (160, "-wide")]

SIDE_PANEL_CSS = """
SidePanel.-hidden { display: none; }
Screen.-narrow SidePanel { display: none; }
Screen.-narrow SidePanel.-shown { display: block; }
"""


class SidePanel(ListView):
    """Shown beside the chat on a wide screen; on a narrow one, while it has the focus."""

    def reveal(self) -> None:
        """Show the panel, on a narrow screen too, and go there."""
        self.remove_class("-hidden")
        self.add_class("-shown")
        self.focus()

    def conceal(self) -> None:
        """Hide the panel until it is revealed again."""
        self.add_class("-hidden")
        self.remove_class("-shown")

    def on_focus(self) -> None:
        self.add_class("-shown")
        if self.index is None and self.children:
            # With nothing highlighted, Enter would do nothing until an arrow key was pressed.
            self.index = 0

    def on_blur(self) -> None:
        # A dialog opened from the panel (a passage, a rename) covers it: it is still in use.
        if self.app.screen is self.screen:
            self.remove_class("-shown")
