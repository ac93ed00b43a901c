# Download a list of torrents, several at once, each with bt-get(1) into
# its own folder:
#
#	make -f examples/batch.mk -j4 TORRENTS="a.torrent b.torrent" OUT=dl
#
# dl/a/ gets a.torrent's files, and dl/a.done the list of their paths once
# it is complete. A torrent that failed (no peers, ...) has no .done file:
# run make again and it resumes from what is on disk; complete ones are
# not looked at again. Extra options for bt-get go in BT_GET_FLAGS
# (e.g. BT_GET_FLAGS="-p peers" to skip the trackers).

TORRENTS	?= $(wildcard *.torrent)
OUT		?= downloads
BT_GET		?= bt-get
BT_GET_FLAGS	?=

# A torrent's name without folder and ".torrent" names its target.
names	:= $(basename $(notdir $(TORRENTS)))
DONE	:= $(names:%=$(OUT)/%.done)

.PHONY: all
all: $(DONE)

# The rule for each torrent, made from its path (which may hold folders).
define one
$(OUT)/$(basename $(notdir $(1))).done: $(1)
	@mkdir -p $(OUT)/$(basename $(notdir $(1)))
	$(BT_GET) $(BT_GET_FLAGS) -q $(1) $(OUT)/$(basename $(notdir $(1))) \
	    >$$@.tmp && mv $$@.tmp $$@
endef
$(foreach t,$(TORRENTS),$(eval $(call one,$(t))))
