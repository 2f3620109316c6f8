"""Run the data hygiene pipeline: python beam_runner.py --input GLOB [GLOB ...] --output DIR.

See README.md, or --help for the options grouped by stage. Any Beam pipeline
option passes through (--runner, --project, --direct_num_workers, ...).
"""

import sys

from pipeline.launch import main

if __name__ == "__main__":
    sys.exit(main())
