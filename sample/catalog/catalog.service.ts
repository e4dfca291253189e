import { Injectable } from '@nestjs/common';
import { InjectRedis, RedisService } from '../../lib';
import { CACHE_POOL } from '../redis.config';

export interface Product {
  id: string;
  name: string;
  price: number;
}

/** How long a looked-up product stays cached, in seconds. */
export const CATALOG_TTL_SECONDS = 60;

/** A cached lookup (cache-aside) on the named `cache` pool. */
@Injectable()
export class CatalogService {
  constructor(@InjectRedis(CACHE_POOL) private readonly cache: RedisService) {}

  async find(id: string): Promise<{ product: Product; cached: boolean }> {
    const key = `sample:product:${id}`;
    const hit = await this.cache.get(key);
    if (hit !== null) return { product: JSON.parse(hit) as Product, cached: true };
    const product = await this.loadSlowly(id);
    await this.cache.executeCommand('SET', key, JSON.stringify(product), 'EX', CATALOG_TTL_SECONDS);
    return { product, cached: false };
  }

  /** Stands in for a slow database or HTTP call. */
  private async loadSlowly(id: string): Promise<Product> {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { id, name: `Product ${id}`, price: (id.length * 7 + 3) % 100 };
  }
}
