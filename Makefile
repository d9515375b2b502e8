# SPDX-License-Identifier: GPL-2.0
#
# kbuild file for bcache: the same in drivers/md/bcache/ and out of tree.
#   in tree:      our files in place of drivers/md/bcache/, CONFIG_BCACHE=m
#   out of tree:  make -C <kernel build> M=$PWD   (or plain `make KDIR=...`)

ifneq ($(KERNELRELEASE),)

obj-$(CONFIG_BCACHE)	+= bcache.o

# Bottom-up, as Documentation/design.rst draws the layers.
bcache-y		:= closure.o util.o sysfs_attr.o sb.o bset.o extents.o \
			   stats.o set.o dirty.o io.o journal.o alloc.o \
			   btree_node.o btree.o gc.o keybuf.o uuid.o request.o \
			   writeback.o recovery.o movinggc.o debug.o backing.o \
			   super.o sysfs.o

bcache-$(CONFIG_BCACHE_KUNIT_TEST) += tests/kunit/ondisk_test.o \
			   tests/kunit/closure_test.o tests/kunit/bset_test.o \
			   tests/kunit/extents_test.o tests/kunit/sysfs_test.o \
			   tests/kunit/vectors_test.o tests/kunit/alloc_test.o \
			   tests/kunit/gc_test.o tests/kunit/journal_test.o \
			   tests/kunit/btree_test.o tests/kunit/super_test.o \
			   tests/kunit/stats_test.o tests/kunit/writeback_test.o

# Out of tree the kernel's autoconf.h does not know our own symbols: the
# caller names them on the command line and we hand them to the compiler.
ifneq ($(KBUILD_EXTMOD),)
ccflags-$(CONFIG_BCACHE_KUNIT_TEST)	+= -DCONFIG_BCACHE_KUNIT_TEST=1
ccflags-$(CONFIG_BCACHE_DEBUG)		+= -DCONFIG_BCACHE_DEBUG=1
ccflags-$(CONFIG_BCACHE_CLOSURES_DEBUG)	+= -DCONFIG_BCACHE_CLOSURES_DEBUG=1
ccflags-$(CONFIG_BCACHE_ASYNC_REGISTRATION) += -DCONFIG_BCACHE_ASYNC_REGISTRATION=1
endif

else

KDIR ?= /lib/modules/$(shell uname -r)/build

modules clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@

endif
