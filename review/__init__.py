"""Pull-request review: what a change does to a stack (diff, warnings, new policy violations) and a picture of it."""
