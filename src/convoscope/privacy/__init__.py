"""Data protection above the store: forgetting a user, retention, and a project's settings
as the API, the CLI and the dashboard change them."""
