from booking_guard.cli import main

raise SystemExit(main())
