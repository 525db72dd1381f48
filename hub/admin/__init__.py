"""The admin screens: Hub pages for accounts, course review and school settings."""
