/* placeholder until delivery lands */
typedef int deliver_stub_unused;
