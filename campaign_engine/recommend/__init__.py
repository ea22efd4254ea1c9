"""Association rules: mining (FP-growth), versioned rule sets, and recommendation lookups."""
