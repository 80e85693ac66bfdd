// Where the agent and the bootstrap server are (PROTOCOL.md §2): resolved per setting from
// explicit overrides (crftb's addition, they win), then the environment (FTB_AGENT_PORT,
// FTB_BSTRAP_SERVER, FTB_BSTRAP_PORT; an empty value counts as set), then the file named by
// FTB_CONFIG_FILE (KEY=value lines, first line containing the key wins, as in FTB), then the
// defaults 10809/14455. There is no default bootstrap server: FTB exits in that case, crftb
// reports has_bootstrap_server = false and lets the caller fail with an error.
#pragma once

#include <netinet/in.h>

#include <functional>
#include <optional>
#include <string>

#include "common/failure.h"

namespace crftb::ftb {

struct ConfigOverrides {
  std::optional<std::string> bootstrap_server;
  std::optional<int> bootstrap_port;
  std::optional<int> agent_port;
  std::optional<std::string> config_file;  // replaces FTB_CONFIG_FILE
};

struct Config {
  int agent_port = 0;
  int bootstrap_port = 0;
  bool has_bootstrap_server = false;
  std::string bootstrap_server;  // as given (dotted quad or `localhost`), see ParseFtbAddress
  // Where each value came from: "override", "env", "file", "default" (for diagnostics).
  std::string agent_port_source, bootstrap_port_source, bootstrap_server_source;
};

// Returns the value of an environment variable, or nullptr when unset.
using EnvLookup = std::function<const char*(const char* name)>;

Config ResolveConfig(const ConfigOverrides& overrides);
Config ResolveConfig(const ConfigOverrides& overrides, const EnvLookup& env);

// FTB's port parsing: atoi semantics (leading digits; garbage gives 0).
int ParsePort(const std::string& text);

// §2.3: exactly `localhost` → 127.0.0.1, else an IPv4 dotted quad (inet_aton; trailing blanks
// allowed). No DNS. Returns false for anything else — unlike FTB, which silently reuses the
// previous address.
bool ParseFtbAddress(const std::string& text, in_addr* out);

// The address a listener (`what`: "agent", "bootstrap server") binds: `host` as ParseFtbAddress
// reads it and a port in 0-65535 (0 = any free one). EINVAL saying which is wrong otherwise.
Failure ParseListenAddress(const std::string& what, const std::string& host, int port, in_addr* out);

}  // namespace crftb::ftb
