# Download one torrent piece by piece, each piece a make target, so that
# make -j is a parallel download and an interrupted make resumes:
#
#	make -f examples/pieces.mk -j8 TORRENT=f.torrent OUT=out
#
# peers		the peer list, asked of the trackers once (bt-announce |
#		bt-peers); give PEERS=FILE to use your own
# pieces/N	piece N, plain bytes (bt-fetch-piece -i N), for each piece
#		bt-verify finds missing under OUT when make starts
# values/N	the same piece as a piece stream value
# all		the torrent followed by every value is a piece stream:
#		bt-assemble writes it under OUT, bt-verify checks the result
#
# Only the pieces still missing are targets, so a rerun fetches only those.

TORRENT	?= $(error give TORRENT=file.torrent)
OUT	?= out
PEERS	?= peers
PIECES	?= pieces
VALDIR	?= values

# "0-3,9" from bt-verify --missing, as "0 1 2 3 9".
missing	:= $(shell bt-verify --missing $(TORRENT) $(OUT) | tr , '\n' | \
	    while IFS=- read a b; do seq $$a $${b:-$$a}; done)
VALUES	:= $(missing:%=$(VALDIR)/%)

.PHONY: all
all: $(VALUES)
	cat $(TORRENT) $(VALUES) | bt-assemble -C $(OUT)
	bt-verify --missing $(TORRENT) $(OUT)

peers:
	bt-announce $(TORRENT) | bt-peers >$@.tmp && mv $@.tmp $@

$(PIECES)/%: | $(PEERS)
	@mkdir -p $(PIECES)
	bt-fetch-piece -q -t $(TORRENT) -p $(PEERS) -i $* -o $@.tmp && \
	    mv $@.tmp $@

# d5:indexi<N>e5:piece<LEN>:<bytes>e
$(VALDIR)/%: $(PIECES)/%
	@mkdir -p $(VALDIR)
	{ printf 'd5:indexi%se5:piece%s:' $* $$(wc -c <$<); cat $<; \
	    printf e; } >$@.tmp && mv $@.tmp $@

# The pieces are kept when make ends, so a second make needs none again.
.PRECIOUS: $(PIECES)/%
