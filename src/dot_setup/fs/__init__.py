"""Files that belong to other programs, and dot-setup's own backups of them: bounded reads, atomic writes, locks."""
