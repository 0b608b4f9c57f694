"""booking-guard's SQL (rules, migrations, alerts, …), shipped inside the package as data."""
