import { parseHosts, parseServices, type Resolver } from '../../src/vsadm/resolve.js';

const HOSTS = parseHosts(['127.0.0.1 localhost runsc', '192.0.2.10 www.example.com www', '::1 localhost ip6-localhost']);
const SERVICES = parseServices(['http 80/tcp www', 'domain 53/tcp', 'domain 53/udp', 'http-alt 8080/tcp webcache', 'sip 5060/udp']);

/** Files-only name service with a fixed table. */
export const fakeResolver: Resolver = {
  async hostToAddress(name) {
    return HOSTS.find((h) => h.names.includes(name) && !h.address.includes(':'))?.address ?? null;
  },
  async addressToHost(address) {
    return HOSTS.find((h) => h.address === address)?.names[0] ?? null;
  },
  serviceToPort(name, proto) {
    return SERVICES.find((s) => s.proto === proto && (s.name === name || s.aliases.includes(name)))?.port ?? null;
  },
  portToService(port, proto) {
    return SERVICES.find((s) => s.proto === proto && s.port === port)?.name ?? null;
  },
};
