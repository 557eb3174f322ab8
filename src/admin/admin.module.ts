import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ChatModule } from '../chat/chat.module';
import { UsersModule } from '../users/users.module';
import { AdminWrites } from './admin-writes';
import { AdminController } from './admin.controller';

@Module({
  imports: [ChatModule, AuthModule, UsersModule],
  controllers: [AdminController],
  providers: [AdminWrites],
})
export class AdminModule {}
