"""The three trainers, each a short file of what differs from the shared loop (training/loop.py).

simulator.py  stage 1: the codec simulator on real-codec outputs
sr.py         stage 2: an SR network through the frozen simulator
post.py       post-processing after the codec, alone or jointly with SR
"""
