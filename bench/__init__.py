"""
Pockity's benchmarks (`make bench`, i.e. `python -m bench`).

Each figure is a ratio against the same work done straight on S3 with boto3
against the same moto server, so the numbers say what Pockity adds, not how
fast this machine is. Everything runs on loopback: moto in one subprocess,
Pockity (`manage.py runlocal` on a throwaway SQLite database, pointed at that
moto) in another. boto3 appears here only as the baseline being compared
against; the product itself talks to S3 through storage/s3.py alone.
"""
