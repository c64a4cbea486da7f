from copymtl_allennlp.metrics.triplet_f1 import TripletF1
