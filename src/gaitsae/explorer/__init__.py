"""The gait explorer: a feature store beside a run, akin-gait retrieval, and a local web app.

    from gaitsae.explorer.store import open_store
    from gaitsae.explorer.retrieval import neighbours
    store = open_store("runs/topk")          # builds RUN/explorer/ when missing or stale
    neighbours(store, stance=12, k=10)       # the akin gaits the stance page shows
"""
