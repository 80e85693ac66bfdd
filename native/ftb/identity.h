// Who is who on an FTB wire (PROTOCOL.md §2.4, §3): the process address, the start-time
// string, location ids, client ids, FTB ids, the manager ("backplane") identities, and the
// equality rules peers apply to them. Strings compare ignoring case, as FTB does.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <string>

#include "ftb/names.h"
#include "ftb/wire.h"

namespace crftb::ftb {

constexpr const char* kBackplaneCategory = "FTB_COMP_CAT_BACKPLANE";
constexpr const char* kManagerComponent = "FTB_COMP_MANAGER";
constexpr uint8_t kAgentManagerExt = 0;
constexpr uint8_t kClientProcessManagerExt = 1;

// The first IPv4 address, in getifaddrs() order, of an interface whose name does not begin with
// "lo"; "" when there is none. Computed once per process. The environment variable
// CRFTB_FTB_HOST_ADDRESS, or SetProcessAddressOverride(), replaces it (tests run in network
// namespaces where only loopback exists, and need deterministic strings).
std::string ProcessAddress();
void SetProcessAddressOverride(const std::string& address);  // "" clears the override

// `%a_%b_%d_%j_%H:%M:%S` in the C locale, local time, e.g. "Tue_Nov_24_328_23:33:42".
std::string FormatStartTime(time_t when);

wire::LocationId MakeLocation(const std::string& hostname, const std::string& pid_starttime, pid_t pid);
wire::ClientId MakeClientId(const EventSpace& space, const std::string& client_name, uint8_t ext);
wire::ClientId ManagerClientId(uint8_t ext);
wire::FtbId MakeFtbId(const wire::LocationId& location, const wire::ClientId& client);

// §3.1: pids equal and both strings equal ignoring case.
bool SameLocation(const wire::LocationId& a, const wire::LocationId& b);
// §3.2: comp_cat, comp, client_name (ignoring case), ext and location; the region is not compared.
bool SameFtbId(const wire::FtbId& a, const wire::FtbId& b);
// A hash key equal for two ids exactly when SameFtbId finds them equal.
std::string FtbIdKey(const wire::FtbId& id);
// §10.2 / §12.1: a client within one process: comp_cat, comp, client_name ignoring case, and ext.
bool SameClientInProcess(const wire::ClientId& a, const wire::ClientId& b);

// §3.3: an agent is BACKPLANE/MANAGER (ignoring case) with ext 0.
bool IsAgent(const wire::ClientId& id);
// §6.4: a manager identity (case-sensitive BACKPLANE/MANAGER, any ext); its CLIENT_DEREG closes
// the connection.
bool IsManager(const wire::ClientId& id);

}  // namespace crftb::ftb
