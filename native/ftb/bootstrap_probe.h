// Liveness probe for registered agents: a non-blocking TCP connect to each agent's listener, all
// in parallel, closed at once. A real FTB 0.6.2 agent reads EOF where it expects the handshake
// and drops the connection, so probing is harmless to it.
#pragma once

#include <vector>

#include "ftb/bootstrap_registry.h"

namespace crftb::ftb {

std::vector<ProbeResult> ProbeAgents(const std::vector<BootstrapEndpoint>& endpoints, int timeout_ms);

}  // namespace crftb::ftb
