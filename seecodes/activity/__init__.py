"""Activity snapshots, effort formula v1 and the team-competition retrospective board."""
