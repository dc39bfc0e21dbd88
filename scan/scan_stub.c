/* placeholder until the scanning stage lands */
typedef int scan_stub_unused;
