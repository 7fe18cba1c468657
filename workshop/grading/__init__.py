"""Grading students' completions: each item's check on inputs drawn for each run (checks), the
clean process every item is forked from (launcher), untrusted code run apart (sandbox) behind
the kernel's wall (landlock), the submissions found and their grades reported (grade), the
points (rubric.toml)."""
