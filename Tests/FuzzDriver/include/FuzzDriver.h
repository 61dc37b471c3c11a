// libFuzzer's entry for programs that keep their own main (compiler-rt FuzzerInterface.h).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

/// Moves the calling thread into a network namespace of its own with loopback up (root only);
/// 0 on success, -1 otherwise (nothing changed, or a namespace without loopback up).
int trackbag_fuzz_isolate_network(void);
