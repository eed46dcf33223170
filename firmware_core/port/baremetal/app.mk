# app.mk - the build shared by the bare-metal node firmwares (firmware_stm32/Makefile, firmware_rv32/Makefile).
#
# The including Makefile sets: ROOT (its directory), TOOL (binutils prefix), ARCH (compiler flags of the core),
# LIB_ARCH (firmware_core's library directory name: cortex-m4 or rv32imc), LDFLAGS (incl. the linker script),
# FW_NAME (first part of the firmware version), and optionally EXTRA_CFLAGS, LINK_DEPS.
# It provides: the model export (BUNDLE=dir: `vibsentry export` -> vs_model_data.[ch] + vs_feature_config.h),
# vs_app_config.h (alarm rule, model hash, version), firmware_core's libvscore.a built for this image's
# FeatureParams, the port's objects, vs_app.o + vs_platform_bare.o, and vs_node.elf/.bin/.hex + size.txt in OUT.
# MODEL_UPDATE=1 (default): signed model updates into flash slots (vs_flash_store.c; vs_flash_ram.c stands in
# for the flash under QEMU); MODEL_UPDATE=0 builds the image without them (OUT gets a -noupdate suffix).

REPO   := $(abspath $(ROOT)/..)
CORE   ?= $(REPO)/firmware_core
APPDIR := $(REPO)/firmware_core/port/baremetal
PYTHON ?= $(REPO)/.venv/bin/python
HW     ?= 0
BUNDLE ?=
BUNDLE_ABS := $(if $(BUNDLE),$(abspath $(BUNDLE)))
# Samples sent on an alarm raise: 1 s at 12 kHz, the pre-trigger ring's 2,048 and the rest streamed (vs_node.h).
RAW_CAPTURE ?= 12000
MODEL_UPDATE ?= 1
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' $(REPO)/vibsentry/__init__.py)
FW_VERSION ?= $(FW_NAME)-$(VERSION)$(if $(filter 1,$(HW)),,-qemu)

# One output directory per (HW, bundle) so builds never mix configurations.
BUNDLE_ID := $(if $(BUNDLE),-$(shell printf '%s' "$(BUNDLE_ABS)" | sha256sum | cut -c1-12))
OUT   ?= $(ROOT)/build/$(if $(filter 1,$(HW)),board,qemu)$(BUNDLE_ID)$(if $(filter 0,$(MODEL_UPDATE)),-noupdate)
# The library does not depend on HW: the QEMU and board images of one bundle share it.
CORE_BUILD := $(ROOT)/build/core$(BUNDLE_ID)
GEN   := $(OUT)/gen
MODEL := $(CORE_BUILD)/model

CC      := $(TOOL)gcc
OBJCOPY := $(TOOL)objcopy
SIZE    := $(TOOL)size
CMSIS_DIR := $(CORE_BUILD)/cmsis/$(shell $(MAKE) -s --no-print-directory -C $(CORE) print-CMSIS_DIR | xargs basename)
CFLAGS  := -std=c99 -Os -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
  -ffunction-sections -fdata-sections -MMD -MP $(ARCH) -DHW=$(HW) -DVS_APP_MODEL_UPDATE=$(MODEL_UPDATE) -D__GNUC_PYTHON__ $(EXTRA_CFLAGS) \
  -I$(ROOT)/src -I$(APPDIR) -I$(CORE)/include -I$(CORE_BUILD)/gen -I$(GEN) $(if $(BUNDLE),-I$(MODEL)) \
  -isystem $(CMSIS_DIR)/Include -isystem $(CMSIS_DIR)/PrivateInclude

PORT_SRCS := $(wildcard $(ROOT)/src/*.c) $(wildcard $(ROOT)/src/*.S)
OBJS := $(patsubst $(ROOT)/src/%,$(OUT)/obj/%.o,$(PORT_SRCS)) $(OUT)/obj/vs_app.o $(OUT)/obj/vs_platform_bare.o $(OUT)/obj/vs_uart_rx.o \
  $(if $(filter 1,$(MODEL_UPDATE)),$(OUT)/obj/vs_flash_store.o $(OUT)/obj/vs_flash_ram.o) \
  $(if $(BUNDLE),$(OUT)/obj/vs_model_data.o)
LIB  := $(CORE_BUILD)/$(LIB_ARCH)/libvscore.a
FEATURE_SRC := $(if $(BUNDLE),$(MODEL)/vs_feature_config.h)

.PHONY: all size clean lib
.SECONDARY:
all: $(OUT)/vs_node.elf $(OUT)/vs_node.bin $(OUT)/vs_node.hex $(OUT)/size.txt

$(MODEL)/vs_model_data.c $(MODEL)/vs_feature_config.h: $(BUNDLE_ABS)/bundle.json $(BUNDLE_ABS)/model.tflite
	$(PYTHON) -m vibsentry export $(BUNDLE_ABS) --target c --out $(MODEL) --force

$(GEN)/vs_app_config.h: $(APPDIR)/gen_app_config.py $(if $(BUNDLE),$(BUNDLE_ABS)/bundle.json) $(ROOT)/Makefile
	$(PYTHON) $(APPDIR)/gen_app_config.py $(if $(BUNDLE),--bundle $(BUNDLE_ABS)) --fw-version $(FW_VERSION) \
	  --raw-capture $(RAW_CAPTURE) --out $@

# firmware_core (features, model runtime, protocol, vs_node) built for this image's FeatureParams. Always asked:
# firmware_core's own Makefile knows when its sources changed (a stale library once linked old vs_node code).
.PHONY: FORCE
FORCE:
lib $(LIB): $(FEATURE_SRC) FORCE
	@$(MAKE) -s --no-print-directory -C $(CORE) BUILD=$(CORE_BUILD) \
	  $(if $(BUNDLE),FEATURE_CONFIG_SRC=$(FEATURE_SRC)) $(LIB)

$(OUT)/obj/%.c.o: $(ROOT)/src/%.c $(GEN)/vs_app_config.h | $(LIB)
	@mkdir -p $(dir $@)
	@echo "CC $(notdir $<)"
	@$(CC) $(CFLAGS) -c $< -o $@
$(OUT)/obj/%.S.o: $(ROOT)/src/%.S | $(LIB)
	@mkdir -p $(dir $@)
	@echo "AS $(notdir $<)"
	@$(CC) $(CFLAGS) -c $< -o $@
$(OUT)/obj/%.o: $(APPDIR)/%.c $(GEN)/vs_app_config.h $(if $(BUNDLE),$(MODEL)/vs_model_data.c) | $(LIB)
	@mkdir -p $(dir $@)
	@echo "CC $(notdir $<)"
	@$(CC) $(CFLAGS) -c $< -o $@
$(OUT)/obj/vs_model_data.o: $(MODEL)/vs_model_data.c | $(LIB)
	@mkdir -p $(dir $@)
	@echo "CC $(notdir $<)"
	@$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/vs_node.elf: $(OBJS) $(LIB) $(LINK_DEPS)
	@echo "LD $(notdir $@)"
	@$(CC) $(LDFLAGS) -Wl,--gc-sections -Wl,--print-memory-usage -Wl,-Map=$(OUT)/vs_node.map -o $@ \
	  $(OBJS) $(LIB) -lm
$(OUT)/vs_node.bin: $(OUT)/vs_node.elf
	@$(OBJCOPY) -O binary $< $@
$(OUT)/vs_node.hex: $(OUT)/vs_node.elf
	@$(OBJCOPY) -O ihex $< $@
$(OUT)/size.txt: $(OUT)/vs_node.elf
	@$(SIZE) -A $< > $@

size: $(OUT)/size.txt
	@cat $<

clean:
	rm -rf $(ROOT)/build

print-%:
	@echo $($*)

-include $(wildcard $(OUT)/obj/*.d)
