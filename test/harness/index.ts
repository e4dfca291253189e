export * from './fake-resp-server';
export * from './free-port';
export * from './process-reaper';
export * from './redis-cluster';
export * from './redis-server';
export * from './resp-encode';
export * from './tcp-proxy';
export * from './tls-certs';
