from copymtl_allennlp.models.copymtl import CopyMTL
from copymtl_allennlp.models.novel_tagging import NovelTagging
from copymtl_allennlp.models.graphrel import GraphRel
from copymtl_allennlp.models.copymtl_set import CopyMTLSet
from copymtl_allennlp.models.tplinker import TPLinker
from copymtl_allennlp.models.onerel import OneRel
