"""Statistics and charts (/stats): figures per place and period, the "<5" rule above the school, snapshots."""
