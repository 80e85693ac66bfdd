{
  "targets": [
    {
      "target_name": "crftb",
      "sources": [
        "<!@(find native -name '*.cc' -not -path 'native/fuzz/*' | LC_ALL=C sort)"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "libraries": ["-ldl", "-lpthread"],
      # libstdc++ and libgcc linked in (and kept private) so the addon, prebuilds included, does
      # not need the build machine's GLIBCXX_3.4.30: it loads beside an older system libstdc++
      # (RHEL/Rocky 8). The glibc symbols it still needs are listed in test/package-prebuild.test.ts.
      "ldflags": ["-static-libstdc++", "-static-libgcc", "-Wl,--exclude-libs,ALL"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
