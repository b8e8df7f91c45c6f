"""Pictures: topomaps, alarm timelines, brain maps, benchmark plots (matplotlib)."""
