"""Grading students' completions: each item's check (checks), untrusted code run apart
(sandbox), the submissions found and their grades reported (grade), the points (rubric.toml)."""
