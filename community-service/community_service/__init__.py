"""community-service: Communities, clusters, units, scenarios and energy-community services (seeds 000, 004 community, scenario)."""
