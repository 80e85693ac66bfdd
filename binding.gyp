{
  "variables": {
    "portable_link%": "<!(node -p \"process.env.CRFTB_SANITIZE === '1' ? 0 : 1\")"
  },
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
      # By soname, so the addon names them (no-as-needed): on glibc < 2.34 the GLIBC_2.2.5
      # pthread_* and dl* functions it calls (native/compat/glibc_2_28.cc) live there, not in libc.
      "libraries": ["-Wl,--no-as-needed", "-l:libdl.so.2", "-l:libpthread.so.0", "-Wl,--as-needed"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }],
        # Not in a sanitizer build (scripts/test-asan.sh sets CRFTB_SANITIZE=1): ASan intercepts
        # pthread_create and friends itself, and a sanitized addon with these redirections does
        # not even load ("unexpected PLT reloc type").
        ["portable_link==0", { "sources!": ["native/compat/glibc_2_28.cc"] }],
        ["portable_link==1", {
          # libstdc++ and libgcc linked in (and kept private) so the addon, prebuilds included, does
          # not need the build machine's GLIBCXX_3.4.30, and glibc symbols newer than 2.28 redirected,
          # so it loads on RHEL/Rocky 8 (test/package-prebuild.test.ts checks the symbol versions).
          "ldflags": ["-static-libstdc++", "-static-libgcc", "-Wl,--exclude-libs,ALL",
                      # Symbols whose versions are newer than glibc 2.28, redirected to
                      # native/compat/glibc_2_28.cc (which says why each one).
                      "-Wl,--wrap=pthread_create,--wrap=pthread_join,--wrap=pthread_detach,--wrap=pthread_once",
                      "-Wl,--wrap=pthread_key_create,--wrap=__pthread_key_create,--wrap=pthread_key_delete",
                      "-Wl,--wrap=pthread_getspecific,--wrap=pthread_setspecific,--wrap=pthread_cond_clockwait",
                      "-Wl,--wrap=dlopen,--wrap=dlsym,--wrap=dlclose,--wrap=dlerror,--wrap=dlinfo",
                      "-Wl,--wrap=stat64,--wrap=lstat64,--wrap=fstat64,--wrap=fstatat64",
                      "-Wl,--wrap=arc4random,--wrap=_dl_find_object"],
        }]
      ]
    }
  ]
}
