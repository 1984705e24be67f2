"""Monitoring jobs: the six job types of seed 004, their settings per cluster, and the passes that judge
the logs (and the unit data) of each cluster and open or close failures."""
