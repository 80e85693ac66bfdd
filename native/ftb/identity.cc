#include "ftb/identity.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mutex>

namespace crftb::ftb {
namespace {

std::mutex address_mutex;
std::string address_override;
bool address_computed = false;
std::string address_cached;

std::string FirstNonLoopbackIpv4() {
  struct ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (struct ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
    if (it->ifa_name != nullptr && strncmp(it->ifa_name, "lo", 2) == 0) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const struct sockaddr_in*>(it->ifa_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) != nullptr) {
      found = text;
      break;
    }
  }
  freeifaddrs(list);
  return found;
}

}  // namespace

std::string ProcessAddress() {
  std::lock_guard<std::mutex> lock(address_mutex);
  if (!address_override.empty()) return address_override;
  if (const char* env = getenv("CRFTB_FTB_HOST_ADDRESS"); env != nullptr && *env != '\0') {
    return env;
  }
  if (!address_computed) {
    address_cached = FirstNonLoopbackIpv4();
    address_computed = true;
  }
  return address_cached;
}

void SetProcessAddressOverride(const std::string& address) {
  std::lock_guard<std::mutex> lock(address_mutex);
  address_override = address;
}

std::string FormatStartTime(time_t when) {
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm {};
  localtime_r(&when, &tm);
  // Fixed C-locale names: the host program's LC_TIME must not change what peers compare.
  char text[64];
  snprintf(text, sizeof(text), "%s_%s_%02d_%03d_%02d:%02d:%02d", kDays[tm.tm_wday % 7], kMonths[tm.tm_mon % 12],
           tm.tm_mday, tm.tm_yday + 1, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
}

wire::LocationId MakeLocation(const std::string& hostname, const std::string& pid_starttime, pid_t pid) {
  wire::LocationId location;
  memset(&location, 0, sizeof(location));
  location.hostname.set(hostname);
  location.pid_starttime.set(pid_starttime);
  location.pid = pid;
  return location;
}

wire::ClientId MakeClientId(const EventSpace& space, const std::string& client_name, uint8_t ext) {
  wire::ClientId id;
  memset(&id, 0, sizeof(id));
  id.region.set(space.region);
  id.comp_cat.set(space.comp_cat);
  id.comp.set(space.comp);
  id.client_name.set(client_name);
  id.ext = ext;
  return id;
}

wire::ClientId ManagerClientId(uint8_t ext) {
  return MakeClientId(EventSpace{"", kBackplaneCategory, kManagerComponent}, "", ext);
}

wire::FtbId MakeFtbId(const wire::LocationId& location, const wire::ClientId& client) {
  wire::FtbId id;
  memset(&id, 0, sizeof(id));
  id.location = location;
  id.client = client;
  return id;
}

bool SameLocation(const wire::LocationId& a, const wire::LocationId& b) {
  return a.pid == b.pid && SameField(a.hostname, b.hostname) && SameField(a.pid_starttime, b.pid_starttime);
}

std::string FtbIdKey(const wire::FtbId& id) {
  std::string key;
  AppendFoldedField(id.location.hostname, &key);
  AppendFoldedField(id.location.pid_starttime, &key);
  AppendFoldedField(id.client.comp_cat, &key);
  AppendFoldedField(id.client.comp, &key);
  AppendFoldedField(id.client.client_name, &key);
  key.append(reinterpret_cast<const char*>(&id.location.pid), sizeof id.location.pid);
  key.push_back(static_cast<char>(id.client.ext));
  return key;
}

bool SameClientInProcess(const wire::ClientId& a, const wire::ClientId& b) {
  return a.ext == b.ext && SameField(a.comp_cat, b.comp_cat) && SameField(a.comp, b.comp) &&
         SameField(a.client_name, b.client_name);
}

bool SameFtbId(const wire::FtbId& a, const wire::FtbId& b) {
  return SameClientInProcess(a.client, b.client) && SameLocation(a.location, b.location);
}

bool IsAgent(const wire::ClientId& id) {
  return id.ext == kAgentManagerExt && SameName(id.comp_cat.get(), kBackplaneCategory) &&
         SameName(id.comp.get(), kManagerComponent);
}

bool IsManager(const wire::ClientId& id) {
  return id.comp_cat.get() == kBackplaneCategory && id.comp.get() == kManagerComponent;
}

}  // namespace crftb::ftb
