import { Controller, Get, Param } from '@nestjs/common';
import { CatalogService, type Product } from './catalog.service';

@Controller('catalog')
export class CatalogController {
  constructor(private readonly catalog: CatalogService) {}

  /** The first call takes ~100 ms and fills the cache; the next ones answer from Redis. */
  @Get(':id')
  find(@Param('id') id: string): Promise<{ product: Product; cached: boolean }> {
    return this.catalog.find(id);
  }
}
