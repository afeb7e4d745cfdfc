"""Model: the local GPT (generator), its provisioning, versions and the starter adapter."""
