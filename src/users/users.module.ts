import { Module } from '@nestjs/common';
import { ExternalUsersService } from './external-users.service';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  controllers: [UsersController],
  providers: [UsersRepository, UsersService, ExternalUsersService],
  exports: [UsersService, ExternalUsersService],
})
export class UsersModule {}
