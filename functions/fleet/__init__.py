"""FleetFunction: the fleet summary's upkeep: its metrics every minute, a recount that repairs drift every day."""
