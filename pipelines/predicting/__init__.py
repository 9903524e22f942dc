"""What predicting a split takes, shared by the commands that segment videos (predict, probes, qualitative)
and by training's held-out check: the engine a checkpoint gives (``engine``), a video segmented frame
by frame and written as palette PNGs (``segment``), and the SCM's gate recorded on the way
(``scm_gate``)."""
