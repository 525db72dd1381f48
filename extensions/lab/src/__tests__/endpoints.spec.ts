import { graderPages, hubPages, hubPageUrl, hubServiceUrl } from '../endpoints';

describe('hubServiceUrl', () => {
  it('puts a service page beside the Hub prefix', () => {
    expect(hubServiceUrl('/hub/', '', 'grader', graderPages.grading('python-intro'))).toBe(
      '/services/grader/courses/python-intro/grading'
    );
  });

  it('keeps a base URL and the Hub host', () => {
    expect(
      hubServiceUrl('/@/space%20word/hub/', 'https://campus.example/', 'grader', 'x')
    ).toBe('https://campus.example/@/space%20word/services/grader/x');
    expect(hubServiceUrl('/base/hub', '', 'grader', '/y')).toBe('/base/services/grader/y');
  });

  it('quotes names in the path', () => {
    expect(graderPages.grading('a b/c')).toBe('courses/a%20b%2Fc/grading');
    expect(graderPages.feedback('id/1')).toBe('api/v1/submissions/id%2F1/feedback');
  });

  it('is null without a Hub', () => {
    expect(hubServiceUrl('', '', 'grader', 'x')).toBeNull();
  });
});

describe('hubPageUrl', () => {
  it('puts an account page under the Hub prefix, keeping the base URL and host', () => {
    expect(hubPageUrl('/hub/', '', hubPages.password)).toBe('/hub/password');
    expect(hubPageUrl('/base/hub', 'https://campus.example/', hubPages.profile)).toBe(
      'https://campus.example/base/hub/profile'
    );
  });

  it('is null without a Hub', () => {
    expect(hubPageUrl('', '', hubPages.profile)).toBeNull();
  });
});
