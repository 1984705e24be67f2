"""deal-service: Energy-sharing deals between units, downtime and availability ratios (seed 004 deal, downtime)."""
