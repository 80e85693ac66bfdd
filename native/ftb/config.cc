#include "ftb/config.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include <sstream>

#include "common/read_file.h"
#include "ftb/wire.h"

namespace crftb::ftb {
namespace {

constexpr const char* kAgentPortKey = "FTB_AGENT_PORT";
constexpr const char* kBootstrapPortKey = "FTB_BSTRAP_PORT";
constexpr const char* kBootstrapServerKey = "FTB_BSTRAP_SERVER";

// §2.2: the first line that contains the key anywhere (FTB matches commented lines too), value =
// everything after the first '=' that follows the key. A matching line without '=' is skipped
// (FTB reads past its buffer there).
std::optional<std::string> FromFile(const std::string& path, const char* key) {
  if (path.empty()) return std::nullopt;
  std::string text, line;
  ReadWholeFile(path, &text);
  std::istringstream in(text);
  while (std::getline(in, line)) {
    const size_t at = line.find(key);
    if (at == std::string::npos) continue;
    const size_t eq = line.find('=', at);
    if (eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ' || value.back() == '\t')) {
      value.pop_back();
    }
    return value;
  }
  return std::nullopt;
}

struct Lookup {
  const ConfigOverrides& overrides;
  const EnvLookup& env;
  std::string file;

  std::optional<std::string> Find(const char* key, std::string* source) const {
    if (const char* value = env(key)) {
      *source = "env";
      return std::string(value);
    }
    if (auto value = FromFile(file, key)) {
      *source = "file";
      return value;
    }
    return std::nullopt;
  }
};

}  // namespace

int ParsePort(const std::string& text) { return atoi(text.c_str()); }

bool ParseFtbAddress(const std::string& text, in_addr* out) {
  if (text == "localhost") {
    out->s_addr = htonl(INADDR_LOOPBACK);
    return true;
  }
  return inet_aton(text.c_str(), out) != 0;
}

Failure ParseListenAddress(const std::string& what, const std::string& host, int port, in_addr* out) {
  if (!ParseFtbAddress(host, out)) {
    return Failure::System(EINVAL, what + " host '" + host + "' is not an IPv4 address (FTB does no DNS lookups)");
  }
  if (port < 0 || port > 65535) {
    return Failure::System(EINVAL, what + " port " + std::to_string(port) + " is outside 0-65535");
  }
  return Failure::None();
}

Config ResolveConfig(const ConfigOverrides& overrides) {
  return ResolveConfig(overrides, [](const char* name) { return getenv(name); });
}

Config ResolveConfig(const ConfigOverrides& overrides, const EnvLookup& env) {
  Lookup lookup{overrides, env, {}};
  if (overrides.config_file) {
    lookup.file = *overrides.config_file;
  } else if (const char* file = env("FTB_CONFIG_FILE")) {
    lookup.file = file;
  }
  Config config;
  if (overrides.agent_port) {
    config.agent_port = *overrides.agent_port;
    config.agent_port_source = "override";
  } else if (auto v = lookup.Find(kAgentPortKey, &config.agent_port_source)) {
    config.agent_port = ParsePort(*v);
  } else {
    config.agent_port = wire::kDefaultAgentPort;
    config.agent_port_source = "default";
  }
  if (overrides.bootstrap_port) {
    config.bootstrap_port = *overrides.bootstrap_port;
    config.bootstrap_port_source = "override";
  } else if (auto v = lookup.Find(kBootstrapPortKey, &config.bootstrap_port_source)) {
    config.bootstrap_port = ParsePort(*v);
  } else {
    config.bootstrap_port = wire::kDefaultBootstrapPort;
    config.bootstrap_port_source = "default";
  }
  if (overrides.bootstrap_server) {
    config.bootstrap_server = *overrides.bootstrap_server;
    config.has_bootstrap_server = true;
    config.bootstrap_server_source = "override";
  } else if (auto v = lookup.Find(kBootstrapServerKey, &config.bootstrap_server_source)) {
    config.bootstrap_server = *v;
    config.has_bootstrap_server = true;
  } else {
    config.bootstrap_server_source = "none";
  }
  return config;
}

}  // namespace crftb::ftb
