import sys

from srmctl.srmsim.app import main

sys.exit(main())
