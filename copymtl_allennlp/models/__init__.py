from copymtl_allennlp.models.copymtl import CopyMTL
