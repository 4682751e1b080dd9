"""ember.distributed.nn.api"""
