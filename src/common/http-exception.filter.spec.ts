import { BadRequestException, NotFoundException } from '@nestjs/common';
import { toErrorBody } from './http-exception.filter';

describe('toErrorBody', () => {
  it('uses the reason phrase as error and keeps validation messages', () => {
    expect(toErrorBody(new BadRequestException(['a must be a string']))).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: ['a must be a string'],
    });
    expect(toErrorBody(new NotFoundException('room not found'))).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'room not found',
    });
  });

  it('maps an unreachable database to 503 without driver text', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    expect(toErrorBody(err)).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.not.stringContaining('5432'),
    });
  });

  it('maps parser errors and hides everything else as 500', () => {
    expect(toErrorBody({ status: 413, type: 'entity.too.large' })).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'request body is too large',
    });
    expect(toErrorBody(new TypeError('x is undefined'))).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'internal error',
    });
  });
});
