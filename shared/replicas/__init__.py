"""What services keep of each other's facts: the pure units replica (the effective-dated tree
rebuilt from registry's events) and the authorisation rule every service applies."""
