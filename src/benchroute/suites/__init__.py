"""See DESIGN.md: this package is filled by later work."""
