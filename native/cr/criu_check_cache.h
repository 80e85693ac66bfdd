// The answers of `criu check`, and CRIU's version, kept across processes: a process's first
// checkpoint or restart otherwise spends 0.1-0.5 s on the check (when crftb has several CRIUs to
// choose from) and a CRIU service start on the version before CRIU starts for the request itself. One file per
// answer in CriuCacheDir() + "-check" (e.g. /var/cache/crftb/criu-check for root), named by a
// hash of everything the answer depends on: the binary (path, inode, size, mtime and ctime, which
// setcap changes), who asks (effective uid and capabilities) and the running kernel (boot id: a
// reboot may bring another kernel). The directory must be the caller's own and writable by
// nobody else (trusted_path.h), and the files regular, the caller's and read without following
// links; anything else and the cache is not used: the check runs, as without a cache.
#pragma once

#include <string>

#include "cr/criu_check.h"

namespace crftb::cr {

// What an answer for `binary` depends on, as one line per part; "" when the binary cannot be
// inspected (then nothing is cached).
std::string CriuCheckKey(const std::string& binary);

// The stored answer for `key`, when there is a trusted one.
bool LoadCriuCheck(const std::string& key, CriuCheckResult* out);

// Stores the answer (best effort: a cache that cannot be written is not an error).
void StoreCriuCheck(const std::string& key, const CriuCheckResult& result);

// The same for the binary's version (CRIU's number, e.g. 40201), which costs a CRIU service
// start to ask.
bool LoadCriuVersion(const std::string& key, int* version);
void StoreCriuVersion(const std::string& key, int version);

}  // namespace crftb::cr
